"""`manage.py simulate --fan-model`: an audience from outside the project, and clear errors for bad specs."""

from io import StringIO
from textwrap import dedent

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db  # the simulator's own throw-away database (sim.sandbox)

# Every fan asks the price first and buys any PPV up to $20; nothing else.
BUYERS = dedent("""
    from sim.fan_model import Reaction

    class Buyers:
        def __init__(self, seed):
            self.seed = seed

        def make_fan(self, fan_id, rng):
            return {"id": fan_id}

        def first_message(self, fan, rng):
            return "how much?"

        def react(self, fan, message, rng):
            return [Reaction.purchase(message.id, message.price)] if 0 < message.price <= 20 else []

    class Deaf:
        def __init__(self, seed):
            pass

        def make_fan(self, fan_id, rng):
            return fan_id

    class Rude(Buyers):
        def react(self, fan, message, rng):
            return ["no"]

    class Picky(Buyers):
        def __init__(self):
            pass
""")


def run(*args) -> str:
    out = StringIO()
    call_command("simulate", *args, "--quiet", stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "elsewhere" / "buyers.py"
    path.parent.mkdir()
    path.write_text(BUYERS, encoding="utf-8")
    return path


def test_a_fan_model_from_a_file_outside_the_project_answers_the_engine(model_file):
    out = run("--fans", "40", "--policy", "static", "--fan-model", f"{model_file}:Buyers")
    # "how much?" is a buying signal: the router offers the ladder's entry PPV ($18) at once, and each fan buys it
    assert "buying_signal 40" in out
    assert "PPVs sent:         40 (0 exploring)" in out
    assert "conversions:       40 (100.0%)" in out
    assert "revenue:           $720.00 (+ $0.00 tips)" in out
    assert "expected revenue:  n/a" in out  # Buyers gives no purchase_probability


def test_a_fan_model_by_module_path_is_the_same_as_the_default():
    default = run("--fans", "60", "--policy", "bayes", "--seed", "4")
    named = run("--fans", "60", "--policy", "bayes", "--seed", "4", "--fan-model", "sim.fan_model:DemoFans")
    assert named == default and "PPVs sent:" in named


@pytest.mark.parametrize(
    "spec, message",
    [
        ("buyers.py", "is not FILE.py:Class or package.module:Class"),
        ("{dir}/missing.py:Buyers", "no such file: {dir}/missing.py"),
        ("{file}:Nobody", "has no Nobody"),
        (
            "{file}:Deaf",
            "does not implement the fan model interface (sim.fan_model.FanModel): missing first_message, react",
        ),
        ("no_such_package.fans:Buyers", "cannot import no_such_package.fans: ModuleNotFoundError"),
        ("{broken}:Buyers", "failed to load: SyntaxError"),
        ("{file}:Picky", "Picky(1) failed: TypeError"),
        ("{file}:Rude", "Rude.react returned 'no': expected sim.fan_model.Reaction objects"),
    ],
)
def test_bad_fan_model_specs_are_refused_clearly(model_file, spec, message):
    broken = model_file.with_name("broken.py")
    broken.write_text("class Buyers(:\n", encoding="utf-8")
    names = {"dir": model_file.parent, "file": model_file, "broken": broken}
    with pytest.raises(CommandError) as refused:
        run("--fans", "5", "--policy", "static", "--fan-model", spec.format(**names))
    assert str(refused.value).startswith("--fan-model: ")
    assert message.format(**names) in str(refused.value)
