package web

import (
	"testing"

	"hushbox/pbx/store"
)

// FuzzExtensionForm: whatever a browser posts, validation never panics,
// and a form it accepts is one the store accepts too.
func FuzzExtensionForm(f *testing.F) {
	f.Add("101", "Alice", "generate", "")
	f.Add("12a", "\x00", "choose", "short")
	f.Add("123456789012345", "Ünïcode name", "choose", "long enough password")
	f.Fuzz(func(t *testing.T, number, name, mode, pw string) {
		form := extensionForm{Number: number, Name: name, PWMode: mode, Password: pw}
		if errs := form.validate(nil); len(errs) > 0 {
			return
		}
		if err := store.ValidNumber(number); err != nil {
			t.Fatalf("accepted number %q the store refuses: %v", number, err)
		}
		if err := store.ValidName(name); err != nil {
			t.Fatalf("accepted name %q the store refuses: %v", name, err)
		}
	})
}
