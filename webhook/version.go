package webhook

// Version is the version of the library.
const Version = "0.1.0"

// UserAgent is the User-Agent header HTTPSender sends unless the request's
// headers set their own.
const UserAgent = "tickethooks/" + Version + " (+https://github.com/tickethooks/tickethooks)"
