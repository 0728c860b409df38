"""One client module per connection kind, behind the contract in base.py; registry.py maps
kinds to them."""
