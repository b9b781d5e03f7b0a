"""funnelkit: clickstream funnel analytics."""

__version__ = "0.1.0.dev0"
__all__: list[str] = []
