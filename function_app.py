"""The Tradeops function app: builds the app and registers every module's blueprint. No logic here."""

import azure.durable_functions as df
import azure.functions as func

import blueprints

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint in blueprints.ALL:
    app.register_functions(blueprint)
