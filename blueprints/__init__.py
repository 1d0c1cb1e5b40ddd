"""Every business module's Blueprint, in registration order, and the models start-up loads."""

from importlib.util import find_spec

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
from shared import lazy

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

# Start-up imports every mapped class before the first handler runs (shared.lazy.import_at_startup says why),
# and every module whose import registers a hook with another module: estimates' crm visibility rule must be in
# place before the first crm request, as it was when everything loaded at indexing.
lazy.import_at_startup(
    "blueprints.estimates.access",
    "shared.models",
    "shared.audit",
    "shared.idempotency",
    "shared.ratelimit",
    *(
        name
        for module in (identity, crm, messaging, configurator, shop, estimates, bids, pricebook, leads, ops)
        if find_spec(name := module.__name__.rpartition(".")[0] + ".models") is not None
    ),
)
