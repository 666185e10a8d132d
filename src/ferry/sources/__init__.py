"""ferry.sources"""
