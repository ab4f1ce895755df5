package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// plainJSON reports whether doc is one JSON object; if so it returns it
// unchanged, after refusing duplicate keys at any depth (the YAML path's
// strict rule). Anything else (YAML, broken JSON) goes to the YAML parser,
// whose errors carry line numbers.
func plainJSON(doc []byte) ([]byte, bool, error) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := noDuplicateKeys(dec, ""); err != nil {
		return nil, false, err
	}
	return trimmed, true, nil
}

// noDuplicateKeys walks one JSON value from dec.
func noDuplicateKeys(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("manifest: %w", err)
			}
			key, _ := keyTok.(string)
			field := key
			if path != "" {
				field = path + "." + key
			}
			if seen[key] {
				return &FieldError{Field: field, Message: "given twice"}
			}
			seen[key] = true
			if err := noDuplicateKeys(dec, field); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := noDuplicateKeys(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}
