"""An embedded 360dialog Partner API v2 simulator on loopback, for tests, demos and exploring.

with run_simulator(SimulatorOptions(seed=7, clients=25)) as sim:
    httpx.get(f"{sim.base_url}/partners/{sim.partner_id}/clients",
              headers={"X-API-Key": sim.api_key})
"""

from .options import Faults, SimulatorOptions
from .requestlog import RequestRecord
from .server import ChannelFacts, Simulator, run_simulator

__all__ = [
    "ChannelFacts",
    "Faults",
    "RequestRecord",
    "Simulator",
    "SimulatorOptions",
    "run_simulator",
]
