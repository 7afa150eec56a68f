"""Gladier 0.11's names for states and config keys (its module path, kept so 0.11 imports
work); the rules live in :mod:`gladier.flowgen.naming`."""

from gladier.flowgen.naming import compute_state_name as get_compute_flow_state_name
from gladier.flowgen.naming import function_checksum_key as get_compute_function_checksum_name
from gladier.flowgen.naming import function_id_key as get_compute_function_name
from gladier.flowgen.naming import snake_case as get_snake_case
from gladier.flowgen.naming import upper_camel_case as get_upper_camel_case

__all__ = [
    "get_compute_flow_state_name",
    "get_compute_function_checksum_name",
    "get_compute_function_name",
    "get_snake_case",
    "get_upper_camel_case",
]
