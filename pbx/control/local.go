package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"hushbox/crypto/keys"
	"hushbox/pbx/backup"
	"hushbox/pbx/call"
	"hushbox/pbx/identity"

	"hushbox/pbx/accounts"
	"hushbox/pbx/store"
)

// DefaultRealm is the digest realm when the owner sets none.
const DefaultRealm = "hushbox"

// SettingRealm is the settings key the daemon records its realm under, so
// extensions added while it is stopped get HA1 values for the same realm.
const SettingRealm = "sip.realm"

// Local manages a stopped hushbox by opening its store.
type Local struct {
	db *store.DB
}

// OpenLocal opens the store at path for management.
func OpenLocal(path string) (*Local, error) {
	db, err := store.Open(path)
	if err != nil {
		return nil, err
	}
	return &Local{db: db}, nil
}

// NewLocal manages an already open store (the daemon's control server uses it).
func NewLocal(db *store.DB) *Local { return &Local{db: db} }

func (l *Local) realm() (string, error) {
	r, ok, err := l.db.Setting(SettingRealm)
	if err != nil {
		return "", fmt.Errorf("read realm: %w", err)
	}
	if !ok || r == "" {
		return DefaultRealm, nil
	}
	return r, nil
}

func (l *Local) AddExtension(_ context.Context, number, name, password string) (string, error) {
	realm, err := l.realm()
	if err != nil {
		return "", err
	}
	return accounts.Add(l.db, realm, number, name, password)
}

func (l *Local) Extensions(context.Context) ([]ExtensionInfo, error) {
	exts, err := l.db.Extensions()
	if err != nil {
		return nil, err
	}
	out := make([]ExtensionInfo, 0, len(exts))
	for _, e := range exts {
		out = append(out, ExtensionInfo{Number: e.Number, Name: e.Name, Realm: e.Realm, RequireSRTP: e.RequireSRTP, Created: e.Created})
	}
	return out, nil
}

func (l *Local) SetRequireSRTP(_ context.Context, number string, require bool) error {
	e, err := l.db.Extension(number)
	if err != nil {
		return fmt.Errorf("extension %s: %w", number, err)
	}
	e.RequireSRTP = require
	return l.db.PutExtension(e)
}

func (l *Local) SetName(_ context.Context, number, name string) error {
	e, err := l.db.Extension(number)
	if err != nil {
		return fmt.Errorf("extension %s: %w", number, err)
	}
	e.Name = name
	if err := l.db.PutExtension(e); err != nil {
		return fmt.Errorf("extension %s: %w", number, err)
	}
	return nil
}

func (l *Local) RemoveExtension(_ context.Context, number string) error {
	if err := l.db.DeleteExtension(number); err != nil {
		return fmt.Errorf("remove extension %s: %w", number, err)
	}
	return nil
}

func (l *Local) SetPassword(_ context.Context, number, password string) (string, error) {
	realm, err := l.realm()
	if err != nil {
		return "", err
	}
	return accounts.SetPassword(l.db, realm, number, password)
}

func (l *Local) CDRs(_ context.Context, q store.CDRQuery) ([]store.CDR, error) {
	return l.db.CDRs(q)
}

func (l *Local) Registrations(context.Context) ([]Registration, error) {
	return nil, errors.New("hushbox is not running: no registrations")
}

func (l *Local) Calls(context.Context) ([]call.Info, error) {
	return nil, errors.New("hushbox is not running: no calls")
}

func (l *Local) Identity(context.Context) (string, error) {
	id, err := identity.Load(filepath.Dir(l.db.Path()), l.db)
	if err != nil {
		return "", err
	}
	defer id.Destroy()
	return id.Public().String(), nil
}

func (l *Local) AddTrunk(_ context.Context, t store.Trunk, password string) error {
	t.PasswordSealed = nil
	switch t.Kind {
	case store.TrunkHushbox:
		if _, err := keys.ParsePublicKey(t.PeerKey); err != nil {
			return fmt.Errorf("peer key: %w", err)
		}
		if password != "" {
			return errors.New("a hushbox trunk has no password: the peer is known by its key")
		}
	case store.TrunkSIP:
		if err := t.Validate(); err != nil {
			return err
		}
		if t.Username != "" && password == "" {
			return errors.New("a SIP trunk with a user name needs its password")
		}
		if password != "" {
			sealed, err := identity.SealSecret(filepath.Dir(l.db.Path()), TrunkSecretName(t.Name), []byte(password))
			if err != nil {
				return err
			}
			t.PasswordSealed = sealed
		}
	}
	return l.db.AddTrunk(t)
}

// TrunkSecretName is what a trunk's sealed password is bound to.
func TrunkSecretName(trunk string) string { return "trunk/" + trunk }

func (l *Local) Trunks(context.Context) ([]TrunkInfo, error) {
	ts, err := l.db.Trunks()
	if err != nil {
		return nil, err
	}
	out := make([]TrunkInfo, 0, len(ts))
	for _, t := range ts {
		t.PasswordSealed = nil
		out = append(out, TrunkInfo{Trunk: t})
	}
	return out, nil
}

func (l *Local) RemoveTrunk(_ context.Context, name string) error { return l.db.DeleteTrunk(name) }

func (l *Local) Backup(_ context.Context, w io.Writer, passphrase string) error {
	kek, err := os.ReadFile(filepath.Join(filepath.Dir(l.db.Path()), identity.KEKFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	extra := map[string][]byte{}
	if kek != nil {
		extra[identity.KEKFile] = kek
	}
	return backup.WriteWithFiles(w, l.db, passphrase, extra)
}

func (l *Local) Close() error { return l.db.Close() }
