//! Unit tests of the connection state machine, one per RFC scenario.
