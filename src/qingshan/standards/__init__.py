"""Pure, versioned implementations of the national standards. No I/O anywhere in this package."""
