// Package backendtest is a fake execution engine for tests that must run
// without a native library (CGO_ENABLED=0 included): the runtime's Manager
// tests, the transports' handler tests, and the proof that a new backend is
// one package plus one registration line.
//
// Its models copy each input to the output of the same position, row for
// row, so a test knows every answer in advance. A test injects latency,
// errors, panics and a wrong batch axis, at load or at run time, and counts
// loads, runs and closes to see what the runtime did.
//
// It owns no queues and knows nothing of the wire, like any backend.
package backendtest
