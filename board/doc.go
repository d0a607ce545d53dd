// Package board is the appliance's hardware outside the SoC's network and
// sound: which board hushbox runs on (from the device tree), the GPIO pins of
// that board's handset hook switch, its two buttons (cloud hand-off and a
// spare) and its status LEDs, and the loop that debounces the inputs into
// events and renders the call state as LED patterns.
//
// GPIO goes through periph.io. Where there is none (a laptop, the cloud
// container, qemu, a board without the expected pins, no permission), Open
// logs once and returns a board that has no inputs and whose LEDs are no-ops,
// so the phone endpoint runs unchanged. Tests use periph's fake pins
// (periph.io/x/conn/v3/gpio/gpiotest) through NewWithPins and drive time
// with Step, so nothing in the tests depends on the wall clock.
//
// docs/board.md has the wiring table.
package board
