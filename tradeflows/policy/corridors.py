"""A small dated transport network of the Caspian region and the cheapest route of each pair.

Nodes (``data/corridor_nodes.csv``) are countries (a representative city) and a few ports or
border crossings, each belonging to one country; all EU members (and EFTA members and the UK,
:data:`VIA_EU`) share the node ``EU`` (central Europe), whose Black Sea gateway is ``EU_CST``.
Links (``data/corridor_links.csv``) are rail, road or sea legs; a ``dated`` link is open from the ``start`` of its ``opens_event`` and
until the day before its ``closes_event`` (blank = open before / after the data); a
``scenario`` link is closed unless a scenario opens it. A link is open in year t if it is
open on 1 July of t. Deep-sea shipping is not modelled: routes are continental (rail, road,
Caspian and Black Sea ferries).

Route cost (stylised, in rail-km equivalents, see :class:`CostModel`):
``km x rate(mode) + border_cost per change of country + sea_leg_cost per sea leg
+ extra_cost of the link`` (port penalties). Pairs whose countries are not in the network,
or that map to the same node (e.g. two EU members), get NaN route variables.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from tradeflows.config import PACKAGE_DATA, study_files
from tradeflows.errors import DataError
from tradeflows.policy.events import load_events, reference_date
from tradeflows.sources.base import to_number

NODES_FILE = PACKAGE_DATA / "corridor_nodes.csv"
LINKS_FILE = PACKAGE_DATA / "corridor_links.csv"
#: Where studies keep their route scenarios (``tradeflows.config.study_files``).
ROUTE_SCENARIO_FOLDER = "scenarios/routes"
MODES = ("rail", "road", "sea")
#: Corridors reported as ``uses_<name>``: each is a list of tag sets, all of which the route
#: must touch (a link carrying any tag of each set). ``northern`` is a transit rule instead.
CORRIDORS: dict[str, list[set[str]]] = {
    "btk": [{"btk"}],
    "middle_corridor": [{"trans_caspian"}],
    "instc": [{"instc"}],
    "lapis_lazuli": [{"lapis_lazuli"}, {"trans_caspian"}],
    "kti": [{"kti"}],
    "zangezur": [{"zangezur"}],
}
#: European countries outside the EU whose overland trade with Asia passes through the EU:
#: they share the node ``EU`` (EFTA members and the United Kingdom).
VIA_EU = frozenset({"CHE", "GBR", "ISL", "LIE", "NOR"})
ROUTE_COLUMNS = ["route_km", "route_cost"] + [f"uses_{c}" for c in [*CORRIDORS, "northern"]]


@dataclass(frozen=True)
class CostModel:
    """Generalised cost of a route, in rail-km equivalents (stylised assumptions).

    Rates per km: rail 1.0, road 1.6 (trucking costs roughly 1.5-2 times rail per tonne-km),
    sea 0.4 (short-sea ferry); 300 per border crossing (about a day of delay); 500 per sea leg
    (loading and unloading at two ports).
    """

    rail: float = 1.0
    road: float = 1.6
    sea: float = 0.4
    border_cost: float = 300.0
    sea_leg_cost: float = 500.0

    def link_cost(self, mode: str, km: float, border: bool, extra: float) -> float:
        """Cost of one link."""
        sea = self.sea_leg_cost if mode == "sea" else 0.0
        return getattr(self, mode) * km + (self.border_cost if border else 0.0) + sea + extra


@dataclass(frozen=True)
class Route:
    """Cheapest route: ``km`` (total length), ``cost`` (see :class:`CostModel`), the node
    ``path``, the ``links`` used and the ``corridors`` it uses (names of :data:`CORRIDORS`)."""

    km: float
    cost: float
    path: tuple[str, ...]
    links: tuple[str, ...]
    corridors: frozenset[str]


@dataclass(frozen=True)
class RouteScenario:
    """Changes to the network: links opened or closed from a year, and transit bans.

    ``opens``/``closes``: ``(link_id, from_year)``. ``unimpeded``: ``(link_id, from_year)``,
    links whose border crossing costs nothing from that year (transit without controls).
    ``avoid_transit``: ``(countries, for_nodes, from_year)``: from that year, routes with an
    end at one of ``for_nodes`` may not pass through those countries (pairs with an end in
    one of them are not affected).
    """

    name: str
    description: str = ""
    opens: tuple[tuple[str, int], ...] = ()
    closes: tuple[tuple[str, int], ...] = ()
    unimpeded: tuple[tuple[str, int], ...] = ()
    avoid_transit: tuple[tuple[frozenset[str], frozenset[str], int], ...] = ()


def northern_transit() -> str:
    """The country (ISO3) whose transit defines ``uses_northern`` (``policy_targets.csv``)."""
    from tradeflows.policy.sanctions import policy_targets

    return str(policy_targets("northern_transit")["country_iso3"].iloc[0])


def load_route_scenario(name_or_path: str | Path | RouteScenario) -> RouteScenario:
    """Read a TOML route scenario: the name of a study's route scenario
    (``tradeflows/studies/<study>/scenarios/routes/<name>.toml``) or a file path.

    Keys: ``name``, ``description``, ``[[open]]``/``[[close]]``/``[[unimpeded]]`` tables with
    ``links`` (ids of ``corridor_links.csv``) and ``from_year``; ``[[avoid_transit]]`` with
    ``countries``, ``for_nodes`` and ``from_year``.
    """
    if isinstance(name_or_path, RouteScenario):
        return name_or_path
    path = Path(name_or_path)
    known = study_files(ROUTE_SCENARIO_FOLDER)
    if not path.suffix:
        path = known.get(str(name_or_path), path)
    if not path.is_file():
        raise DataError(f"route scenario not found; the studies' route scenarios: "
                        f"{sorted(known)}", file=path)
    with open(path, "rb") as fh:
        try:
            spec = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"not valid TOML: {exc}", file=path) from exc
    link_ids = set(pd.read_csv(LINKS_FILE, usecols=["link_id"])["link_id"])

    def year_of(entry: dict, key: str) -> int:
        if not isinstance(entry.get("from_year"), int):
            raise DataError(f"[[{key}]] needs an integer from_year", file=path,
                            column="from_year")
        return entry["from_year"]

    changes: dict[str, list] = {"open": [], "close": [], "unimpeded": []}
    for key in changes:
        for entry in spec.get(key, []):
            for link in entry.get("links", []):
                if link not in link_ids:
                    raise DataError(f"[[{key}]] names unknown link {link!r}", file=path,
                                    column="links")
                changes[key].append((link, year_of(entry, key)))
    avoid = tuple((frozenset(e.get("countries", [])), frozenset(e.get("for_nodes", [])),
                   year_of(e, "avoid_transit")) for e in spec.get("avoid_transit", []))
    return RouteScenario(name=spec.get("name", path.stem), description=spec.get("description", ""),
                         opens=tuple(changes["open"]), closes=tuple(changes["close"]),
                         unimpeded=tuple(changes["unimpeded"]), avoid_transit=avoid)


class TransportNetwork:
    """The dated network: :meth:`at` gives the graph of a year, :meth:`cheapest_route` routes."""

    def __init__(self, nodes: pd.DataFrame, links: pd.DataFrame,
                 cost: CostModel | None = None) -> None:
        self.nodes = nodes.set_index("node")
        self.links = links.reset_index(drop=True)
        self.cost = cost or CostModel()
        self._country = self.nodes["country"].astype(str).to_dict()

    @classmethod
    def from_events(cls, events: pd.DataFrame | None = None, *,
                    nodes_file: str | Path = NODES_FILE, links_file: str | Path = LINKS_FILE,
                    cost: CostModel | None = None) -> TransportNetwork:
        """Build the network, dating links by the ``start`` of their opening/closing events."""
        ev = (load_events() if events is None else events).set_index("event_id")
        nodes = pd.read_csv(nodes_file, dtype={"node": str, "country": str})
        links = pd.read_csv(links_file, dtype=str, keep_default_na=False)
        known = set(nodes["node"])
        opens, closes = [], []
        for i, row in enumerate(links.itertuples(index=False)):
            line = i + 2
            for column in ("node_a", "node_b"):
                if getattr(row, column) not in known:
                    raise DataError(f"unknown node {getattr(row, column)!r}", file=links_file,
                                    row=line, column=column)
            if row.mode not in MODES:
                raise DataError(f"unknown mode {row.mode!r}; expected {MODES}",
                                file=links_file, row=line, column="mode")
            if row.status not in ("baseline", "dated", "scenario"):
                raise DataError(f"unknown status {row.status!r}", file=links_file, row=line,
                                column="status")
            dates = []
            for column in ("opens_event", "closes_event"):
                eid = getattr(row, column)
                if eid and eid not in ev.index:
                    raise DataError(f"event {eid!r} not in the event table", file=links_file,
                                    row=line, column=column)
                dates.append(ev.at[eid, "start"] if eid else pd.NaT)
            opens.append(dates[0])
            closes.append(dates[1] - pd.Timedelta(days=1) if pd.notna(dates[1]) else pd.NaT)
        km = to_number(links["km"], column="km", file=links_file, row_offset=2)
        if (km.isna() | (km <= 0)).any():
            line = int(np.flatnonzero((km.isna() | (km <= 0)).to_numpy())[0]) + 2
            raise DataError("km must be a positive number", file=links_file, row=line,
                            column="km")
        extra = to_number(links["extra_cost"], column="extra_cost", file=links_file,
                          row_offset=2).fillna(0.0)
        links = links.assign(km=km, extra_cost=extra,
                             open_from=pd.to_datetime(pd.Series(opens, dtype=object)),
                             open_until=pd.to_datetime(pd.Series(closes, dtype=object)))
        return cls(nodes, links, cost)

    def country(self, node: str) -> str:
        """Country code of a node (``EU`` for the EU nodes)."""
        return self._country[node]

    def open_links(self, year: int, scenario: RouteScenario | None = None) -> pd.DataFrame:
        """Links open on 1 July of ``year`` (under ``scenario`` if given)."""
        t = reference_date(year)
        lk = self.links
        is_open = ((lk["status"] != "scenario") & (lk["open_from"].isna() | (lk["open_from"] <= t))
                   & (lk["open_until"].isna() | (t <= lk["open_until"])))
        if scenario is not None:
            opened = {link for link, y in scenario.opens if y <= year}
            closed = {link for link, y in scenario.closes if y <= year}
            is_open = (is_open | lk["link_id"].isin(opened)) & ~lk["link_id"].isin(closed)
        return lk[is_open]

    def at(self, year: int, scenario: str | Path | RouteScenario | None = None) -> nx.Graph:
        """Graph of the open links in ``year``; parallel links keep the cheapest.

        Edge attributes: ``link_id, mode, km, cost, tags`` (set); node attribute ``country``.
        """
        if scenario is not None:
            scenario = load_route_scenario(scenario)
        free = {link for link, y in scenario.unimpeded if y <= year} if scenario else set()
        g = nx.Graph()
        for node, row in self.nodes.iterrows():
            g.add_node(node, country=row["country"])
        for row in self.open_links(year, scenario).itertuples(index=False):
            border = (self.country(row.node_a) != self.country(row.node_b)
                      and row.link_id not in free)
            cost = self.cost.link_cost(row.mode, row.km, border, row.extra_cost)
            old = g.get_edge_data(row.node_a, row.node_b)
            if old is None or cost < old["cost"]:
                g.add_edge(row.node_a, row.node_b, link_id=row.link_id, mode=row.mode,
                           km=float(row.km), cost=cost,
                           tags=frozenset(t for t in row.tags.split(";") if t))
        return g

    def _route(self, g: nx.Graph, origin: str, dest: str) -> Route | None:
        try:
            path = nx.dijkstra_path(g, origin, dest, weight="cost")
        except nx.NetworkXNoPath:
            return None
        edges = [g.edges[a, b] for a, b in zip(path[:-1], path[1:], strict=True)]
        tags = set().union(*(e["tags"] for e in edges)) if edges else set()
        used = {name for name, groups in CORRIDORS.items() if all(tags & s for s in groups)}
        ends = {self.country(origin), self.country(dest)}
        northern = northern_transit()
        if northern not in ends and any(self.country(n) == northern for n in path):
            used.add("northern")
        return Route(km=sum(e["km"] for e in edges), cost=sum(e["cost"] for e in edges),
                     path=tuple(path), links=tuple(e["link_id"] for e in edges),
                     corridors=frozenset(used))

    def _graph_for(self, g: nx.Graph, origin: str, dest: str, year: int,
                   scenario: RouteScenario | None) -> nx.Graph:
        if scenario is None:
            return g
        banned: set[str] = set()
        for countries, for_nodes, from_year in scenario.avoid_transit:
            ends = {self.country(origin), self.country(dest)}
            if year >= from_year and ({origin, dest} & for_nodes) and not ends & countries:
                banned |= countries
        if not banned:
            return g
        return nx.restricted_view(g, [n for n in g if g.nodes[n]["country"] in banned], [])

    def cheapest_route(self, origin: str, dest: str, year: int,
                       scenario: str | Path | RouteScenario | None = None) -> Route | None:
        """Cheapest route between two nodes in ``year`` (None if they are not connected).

        ``origin``/``dest``: network nodes, or ISO3 codes of EU members (mapped to ``EU``).
        """
        from tradeflows.policy.memberships import members

        eu = members("eu", reference_date(year))
        ends = []
        for code in (origin, dest):
            node = code if code in self.nodes.index else self.node_of(code, eu)
            if node is None:
                raise DataError(f"{code!r} is not in the transport network in {year}; nodes: "
                                f"{list(self.nodes.index)}")
            ends.append(node)
        origin, dest = ends
        sc = load_route_scenario(scenario) if scenario is not None else None
        g = self.at(year, sc)
        return self._route(self._graph_for(g, origin, dest, year, sc), origin, dest)

    def node_of(self, country: str, eu_members: frozenset[str] = frozenset()) -> str | None:
        """Network node of a country: its own node, ``EU`` for EU members and :data:`VIA_EU`,
        else None."""
        if country in self.nodes.index and self.country(country) == country:
            return country
        if country in eu_members or country in VIA_EU:
            return "EU"
        return None

    def route_table(self, years: Iterable[int],
                    scenario: str | Path | RouteScenario | None = None) -> pd.DataFrame:
        """Routes between all pairs of country nodes (and ``EU``), for each year.

        Columns ``year, origin, dest`` + :data:`ROUTE_COLUMNS` (``uses_*`` as 0/1 floats).
        Routes are symmetric; both directions are listed.
        """
        sc = load_route_scenario(scenario) if scenario is not None else None
        ends = [n for n in self.nodes.index if self.country(n) == n or n == "EU"]
        rows = []
        cache: dict[tuple, list[tuple]] = {}
        for year in sorted(set(int(y) for y in years)):
            state = (frozenset(self.open_links(year, sc)["link_id"]),
                     tuple(year >= y for _, y in sc.unimpeded) if sc else (),
                     tuple(year >= y for _, _, y in sc.avoid_transit) if sc else ())
            if state not in cache:
                g = self.at(year, sc)
                found = []
                for i, a in enumerate(ends):
                    for b in ends[i + 1:]:
                        r = self._route(self._graph_for(g, a, b, year, sc), a, b)
                        if r is None:
                            continue
                        flags = [float(c in r.corridors) for c in [*CORRIDORS, "northern"]]
                        found += [(a, b, r.km, r.cost, *flags), (b, a, r.km, r.cost, *flags)]
                cache[state] = found
            rows += [(year, *row) for row in cache[state]]
        return pd.DataFrame(rows, columns=["year", "origin", "dest", *ROUTE_COLUMNS])


def route_index(countries: pd.Index, years: np.ndarray,
                scenario: str | Path | RouteScenario | None = None,
                network: TransportNetwork | None = None,
                events: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lookup arrays for route variables of many pairs.

    Returns ``node`` (len(countries), len(years)): index of each country's network end node in
    each year (-1 outside the network), and ``dense`` (len(years), n_nodes, n_nodes,
    len(ROUTE_COLUMNS)): the route variables between end nodes (NaN on the diagonal).
    """
    from tradeflows.policy.memberships import members_by_year

    ev = load_events() if events is None else events
    net = network or TransportNetwork.from_events(ev)
    table = net.route_table(years, scenario)
    ends = pd.Index(sorted(set(table["origin"]) | set(table["dest"])))
    eu = members_by_year("eu", years, ev)
    node = np.full((len(countries), len(years)), -1)
    for j, y in enumerate(years):
        for i, c in enumerate(countries):
            n = net.node_of(c, eu[int(y)])
            node[i, j] = ends.get_loc(n) if n in ends else -1
    dense = np.full((len(years), len(ends), len(ends), len(ROUTE_COLUMNS)), np.nan)
    dense[np.searchsorted(years, table["year"].to_numpy()), ends.get_indexer(table["origin"]),
          ends.get_indexer(table["dest"])] = table[ROUTE_COLUMNS].to_numpy()
    return node, dense


def lookup_routes(node: np.ndarray, dense: np.ndarray, exporter: np.ndarray,
                  importer: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Route variables (n, len(ROUTE_COLUMNS)) for integer codes from :func:`route_index`."""
    o, d = node[exporter, year], node[importer, year]
    out = np.full((len(year), dense.shape[-1]), np.nan)
    ok = (o >= 0) & (d >= 0) & (exporter >= 0) & (importer >= 0)
    out[ok] = dense[year[ok], o[ok], d[ok]]
    return out


def route_variables(pairs: pd.DataFrame | Iterable[tuple[str, str]], years: Iterable[int],
                    scenario: str | Path | RouteScenario | None = None,
                    network: TransportNetwork | None = None,
                    events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Route variables for country pairs (ISO3) and years, optionally under a scenario.

    ``pairs``: a DataFrame with ``exporter, importer`` or (exporter, importer) tuples.
    Returns ``year, exporter, importer`` + :data:`ROUTE_COLUMNS` for every pair and year;
    NaN where a country is outside the network or both map to the same node. EU members map
    to the ``EU`` node in the years they are members. For a counterfactual, compare
    ``route_cost`` under ``scenario`` with the baseline (``scenario=None``), e.g.
    ``np.log(sc.route_cost / base.route_cost)``.
    """
    pairs_df = (pairs[["exporter", "importer"]] if isinstance(pairs, pd.DataFrame)
                else pd.DataFrame(list(pairs), columns=["exporter", "importer"]))
    pairs_df = pairs_df.drop_duplicates()
    years = sorted(set(int(y) for y in years))
    res = pd.concat([pairs_df.assign(year=y) for y in years], ignore_index=True)
    countries = pd.Index(pd.unique(pd.concat([res["exporter"], res["importer"]])))
    node, dense = route_index(countries, np.asarray(years), scenario, network, events)
    res[ROUTE_COLUMNS] = lookup_routes(node, dense, countries.get_indexer(res["exporter"]),
                                       countries.get_indexer(res["importer"]),
                                       np.searchsorted(years, res["year"].to_numpy()))
    return res[["year", "exporter", "importer", *ROUTE_COLUMNS]]
