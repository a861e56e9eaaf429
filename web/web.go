// Package web holds the browser assets omnichat serves itself: the
// embeddable live-chat widget (/widget.js) and the landing page that
// `omnichat dev` shows at /.
package web

import (
	"embed"
	"html/template"
)

//go:embed widget.js index.html
var files embed.FS

var (
	widgetJS = mustRead("widget.js")
	// Parsed once at start-up: a broken template is a build bug, so it
	// fails loudly right away rather than on the first request.
	indexTmpl = template.Must(template.New("index.html").Parse(string(mustRead("index.html"))))
)

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("web: " + err.Error()) // cannot happen: the file is embedded at build time
	}
	return b
}

// WidgetJS returns the source of the embeddable live-chat widget, served as
// /widget.js with Content-Type text/javascript. The slice is shared: callers
// must not modify it.
func WidgetJS() []byte { return widgetJS }

// IndexTemplate returns the landing page template. Execute it with a value
// that has the fields ChannelID (the built-in live-chat channel the page's
// own widget uses), TemporalUIURL, AdminEmail (may be empty) and Version.
func IndexTemplate() *template.Template { return indexTmpl }
