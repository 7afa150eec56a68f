import subprocess
import sys


def test_import_gladier_does_not_load_globus_compute_sdk():
    code = "import sys, gladier; print('globus_compute_sdk' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_attribute_is_an_attribute_error():
    import gladier
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gladier.nope


def test_simpleeval_is_imported_only_when_an_expression_runs():
    code = ("import sys, gladier.engine.validate as v, gladier.engine.interpreter; "
            "v.validate_flow({'StartAt': 'E', 'States': {'E': {'Type': 'ExpressionEval', "
            "'Parameters': {'x.=': 'len(input)'}, 'End': True}}}); "
            "before = 'simpleeval' in sys.modules; "
            "from gladier.engine.expressions import evaluate; evaluate('1 + 1', {}); "
            "print(before, 'simpleeval' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
