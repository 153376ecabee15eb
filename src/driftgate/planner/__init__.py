"""Desired specs + recorded state + live reads -> Plan. The planner never writes."""
