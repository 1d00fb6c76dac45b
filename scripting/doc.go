// Package scripting holds the expression environments of pomeloctl (routers now;
// filters, handlers and hooks later) and compiles expressions once, at load time.
//
// Expressions are written in expr-lang (https://expr-lang.org). Each kind of
// expression has an environment type (RouterEnv for routers) whose fields, under
// their expr:"..." names, are the names an expression may use, so that the checker
// can reject a misspelt name or a wrong result type before any request arrives.
package scripting
