package runtime

import "testing"

func TestIsInsecureRegistry(t *testing.T) {
	list := []string{"reg.lan:5000", "plain.lan"}
	cases := []struct {
		host string
		want bool
	}{
		{"127.0.0.1:5000", true},
		{"127.8.9.1", true},
		{"localhost:5000", true},
		{"[::1]:5000", true},
		{"reg.lan:5000", true},
		{"reg.lan:5001", false},
		{"reg.lan", false},
		{"plain.lan", true},
		{"plain.lan:8080", true},
		{"docker.io", false},
		{"10.0.0.1:5000", false},
	}
	for _, c := range cases {
		if got := isInsecureRegistry(c.host, list); got != c.want {
			t.Errorf("isInsecureRegistry(%q) = %v, want %v", c.host, got, c.want)
		}
	}
}
