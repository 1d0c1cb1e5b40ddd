"""Every business module's Blueprint, in registration order."""

from blueprints.ops import functions as ops

ALL = [ops.bp]
