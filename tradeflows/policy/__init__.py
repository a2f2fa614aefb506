"""Policy variables: dated memberships, trade agreements, sanctions and shocks, and transport
corridor routes, for each exporter-importer-year of the gravity panel.

Part-year rule everywhere: in force for year t if in force on 1 July of t. Partial dates:
``YYYY`` = 1 July, ``YYYY-MM`` = the 1st of the month.
"""

from tradeflows.policy.corridors import (
    CostModel,
    Route,
    RouteScenario,
    TransportNetwork,
    load_route_scenario,
    route_variables,
)
from tradeflows.policy.events import load_events
from tradeflows.policy.memberships import members
from tradeflows.policy.variables import add_policy_variables, variable_catalog

__all__ = ["CostModel", "Route", "RouteScenario", "TransportNetwork", "add_policy_variables",
           "load_events", "load_route_scenario", "members", "route_variables",
           "variable_catalog"]
