"""qingshan (青山): the daily work of a city Ecology and Environment Bureau, as software."""

__version__ = "0.1.0"
