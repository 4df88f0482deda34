"""The order-fulfilment saga: orchestrator state machine, choreography, agents."""
