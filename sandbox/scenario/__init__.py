"""Scenario files: a sender's DNS, one message and the provider's expected answer, as
YAML data (format in scenarios/README.md, schema in schema.json next to this file)."""

from sandbox.scenario.loader import ScenarioError, load_scenario, scenario_files
from sandbox.scenario.runner import ScenarioOutcome, run_scenario

__all__ = ["ScenarioError", "ScenarioOutcome", "load_scenario", "run_scenario", "scenario_files"]
