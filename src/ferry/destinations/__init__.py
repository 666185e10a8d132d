"""ferry.destinations"""
