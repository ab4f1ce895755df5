// Package layout holds no code of the product: its tests enforce the rules
// of the repository's shape that a reviewer would otherwise have to
// remember. They read the source tree and git's index, nothing else.
//
//   - The protocol belongs to both sides, so to neither: nothing under
//     agent/ imports master/, nothing under master/ imports agent/, and the
//     shared packages (api, pki, proto, scheduler, netoverlay) import
//     neither (imports_test.go).
//   - No build output is tracked: no file in git's index over 1 MB
//     (files_test.go).
//   - No function outside generated code runs over 80 lines
//     (funcs_test.go).
package layout
