"""Regions federating: rooms a region keeps for its peers (policy list, directory), the peers'
shared rooms this region's members are asked into, and the cross-region directory."""
