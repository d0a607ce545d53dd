package board

// Profile names a board's GPIO pins, as periph.io registers them
// (gpioreg.ByName): "GPIO17" on the Raspberry Pi, "PG0" on the Allwinner A20.
// An empty name means the board has no such pin. docs/board.md has the
// header positions and the wiring.
//
// Electrical convention for every board: inputs use the SoC's pull-up and a
// switch to ground, so a closed contact reads Low. The hook switch is closed
// while the handset rests on it (on hook) and open when lifted (off hook);
// the buttons close while pressed. LEDs are driven active high through a
// resistor to ground.
type Profile struct {
	Kind    Kind
	Name    string // human name, for logs and the web page
	Hook    string // hook switch input
	Handoff string // "hand off to the cloud now" button
	Spare   string // spare button (reserved)
	Green   string // status LED (the only one on single-LED builds)
	Red     string // alarm LED; empty on single-LED builds
}

// HasGPIO reports whether the profile names any pin at all.
func (p Profile) HasGPIO() bool {
	return p.Hook != "" || p.Handoff != "" || p.Spare != "" || p.Green != "" || p.Red != ""
}

// profiles: free header pins of each board, away from the UART console,
// I2C, SPI, the I2S/PCM audio pins and the SD card.
var profiles = map[Kind]Profile{
	RPi2: {
		Kind: RPi2, Name: "Raspberry Pi 2 Model B",
		Hook: "GPIO17", Handoff: "GPIO27", Spare: "GPIO22", Green: "GPIO23", Red: "GPIO24",
	},
	Cubieboard2: {
		Kind: Cubieboard2, Name: "Cubieboard2",
		Hook: "PG0", Handoff: "PG1", Spare: "PG2", Green: "PG3", Red: "PG4",
	},
	Cubietruck: {
		Kind: Cubietruck, Name: "Cubietruck (Cubieboard3)",
		Hook: "PG0", Handoff: "PG1", Spare: "PG2", Green: "PG3", Red: "PG4",
	},
	QEMU:    {Kind: QEMU, Name: "qemu virt"},
	Generic: {Kind: Generic, Name: "generic"},
}

// ProfileFor returns the profile of a board kind (Generic's for an unknown
// kind).
func ProfileFor(k Kind) Profile {
	if p, ok := profiles[k]; ok {
		return p
	}
	return profiles[Generic]
}
