package api

// ALPNProtocols are what the masters' API and the agents' endpoint offer in
// the TLS handshake: HTTP/2 first, so that each client multiplexes its calls
// over one connection, and HTTP/1.1 for exec's upgrade. A server whose TLS
// config comes from GetConfigForClient must set them itself: net/http adds
// h2 only to the config it was given.
var ALPNProtocols = []string{"h2", "http/1.1"}
