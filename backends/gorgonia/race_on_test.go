//go:build race

package gorgonia

// raceEnabled is set when the tests run under the race detector, which
// slows the zoo CNNs' arithmetic by well over ten times.
const raceEnabled = true
