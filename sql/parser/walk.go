package parser

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Walk calls visit on m and on every message below it in a parse tree,
// parents before children; visit returns false to skip a message's
// children.
func Walk(m proto.Message, visit func(proto.Message) bool) {
	walk(m.ProtoReflect(), visit)
}

func walk(m protoreflect.Message, visit func(proto.Message) bool) {
	if !visit(m.Interface()) {
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walk(l.Get(i).Message(), visit)
			}
		case fd.Message() != nil && !fd.IsMap():
			walk(v.Message(), visit)
		}
		return true
	})
}
