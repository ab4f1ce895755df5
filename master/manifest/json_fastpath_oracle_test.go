package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// decodeWithDecoder is how a JSON document was decoded before decodeJSON:
// a walk with encoding/json's Token API refusing duplicate keys, then
// Decoder.Decode. It is the oracle decodeJSON is held to.
func decodeWithDecoder(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := oracleNoDuplicateKeys(dec, ""); err != nil {
		return nil, err
	}
	dec = json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return v, nil
}

// oracleNoDuplicateKeys walks one JSON value from dec.
func oracleNoDuplicateKeys(dec *json.Decoder, path string) error {
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
			if err := oracleNoDuplicateKeys(dec, field); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := oracleNoDuplicateKeys(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}
