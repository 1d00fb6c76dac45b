//go:build !race

package protocol

// raceEnabled skips allocation counts, which the race detector inflates.
const raceEnabled = false
