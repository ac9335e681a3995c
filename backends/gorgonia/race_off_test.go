//go:build !race

package gorgonia

// raceEnabled is set when the tests run under the race detector.
const raceEnabled = false
