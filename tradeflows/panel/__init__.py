"""The pair-year gravity panel: mirror reconciliation (``mirror``), the square panel with
zeros versus missing (``square``), covariates (``covariates``), the build and its manifest
(``build``, ``manifest``). Rules are stated in each module's docstring."""
