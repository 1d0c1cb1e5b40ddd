"""Every business module's Blueprint, in registration order."""

from blueprints.bids import functions as bids
from blueprints.configurator import functions as configurator
from blueprints.crm import functions as crm
from blueprints.estimates import functions as estimates
from blueprints.identity import functions as identity
from blueprints.leads import functions as leads
from blueprints.messaging import functions as messaging
from blueprints.ops import functions as ops
from blueprints.pricebook import functions as pricebook
from blueprints.shop import functions as shop

ALL = [
    identity.bp,
    crm.bp,
    messaging.bp,
    configurator.bp,
    shop.bp,
    estimates.bp,
    bids.bp,
    pricebook.bp,
    leads.bp,
    ops.bp,
]
