package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// MaxSettingKey and MaxSettingValue bound a setting's size.
const (
	MaxSettingKey   = 256
	MaxSettingValue = 64 << 10
)

// Setting returns the value of a setting and whether it is set.
func (db *DB) Setting(key string) (string, bool, error) {
	var val string
	var ok bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSettings).Get([]byte(key)); v != nil {
			val, ok = string(v), true
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("store: setting %q: %w", key, err)
	}
	return val, ok, nil
}

// SetSetting sets a setting. Keys are 1 to MaxSettingKey bytes, values at
// most MaxSettingValue bytes.
func (db *DB) SetSetting(key, val string) error {
	if key == "" || len(key) > MaxSettingKey {
		return fmt.Errorf("store: set setting: %w: key must be 1 to %d bytes", ErrInvalid, MaxSettingKey)
	}
	if len(val) > MaxSettingValue {
		return fmt.Errorf("store: set setting %q: %w: value longer than %d bytes", key, ErrInvalid, MaxSettingValue)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSettings).Put([]byte(key), []byte(val))
	})
	if err != nil {
		return fmt.Errorf("store: set setting %q: %w", key, err)
	}
	return nil
}

// DeleteSetting removes a setting; removing an absent one is not an error.
func (db *DB) DeleteSetting(key string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSettings).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("store: delete setting %q: %w", key, err)
	}
	return nil
}

// Settings returns every setting.
func (db *DB) Settings() (map[string]string, error) {
	m := make(map[string]string)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSettings).ForEach(func(k, v []byte) error {
			m[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: settings: %w", err)
	}
	return m, nil
}
