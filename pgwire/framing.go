package pgwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Limits on what a client may send before it has authenticated, as in
// PostgreSQL (MAX_STARTUP_PACKET_LENGTH, PG_MAX_AUTH_TOKEN_LENGTH).
const (
	maxStartupPacket = 10000
	maxAuthMessage   = 65535
)

// firstBodyChunk is what a message body gets before its bytes arrive; the
// buffer then doubles as they come, up to the declared length.
const firstBodyChunk = 64 << 10

// frameReader frames client messages before pgproto3 decodes them.
// pgproto3 allocates a message's declared length before reading it, so a
// bare header declaring 1 GiB would reserve 1 GiB; here the length is
// checked against the limit in force and the body is read into a buffer
// that grows only as bytes actually arrive. pgproto3 then reads the framed
// message from memory. One Read never crosses into the next message, so
// pgproto3 never makes the reader wait for a message it has not asked for.
type frameReader struct {
	src io.Reader
	// startup: messages carry no type byte (StartupMessage, SSLRequest,
	// CancelRequest …); afterwards a type byte precedes the length
	startup bool
	limit   int // the largest body accepted now
	pending []byte
	// spare is reused for small frames: pgproto3 copies what it reads, so
	// a frame's buffer is free once the frame has been read
	spare []byte
}

// messageTooLong is a message whose declared length exceeds the limit.
type messageTooLong struct {
	declared, limit int
	startup         bool
}

func (e *messageTooLong) Error() string {
	return fmt.Sprintf("invalid message length %d (limit %d)", e.declared, e.limit)
}

// expect sets the framing and the body limit for the messages that follow.
func (f *frameReader) expect(startup bool, limit int) {
	f.startup, f.limit = startup, limit
}

func (f *frameReader) Read(p []byte) (int, error) {
	if len(f.pending) == 0 {
		frame, err := f.readFrame()
		if err != nil {
			return 0, err
		}
		f.pending = frame
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

// readFrame reads one whole message, header included.
func (f *frameReader) readFrame() ([]byte, error) {
	headerLen := 5
	if f.startup {
		headerLen = 4
	}
	var header [5]byte
	if _, err := io.ReadFull(f.src, header[:headerLen]); err != nil {
		return nil, err
	}
	length := int(int32(binary.BigEndian.Uint32(header[headerLen-4 : headerLen])))
	if length < 4 {
		return nil, fmt.Errorf("invalid message length %d", length)
	}
	bodyLen := length - 4
	if bodyLen > f.limit {
		return nil, &messageTooLong{declared: bodyLen, limit: f.limit, startup: f.startup}
	}
	total := headerLen + bodyLen
	var frame []byte
	if total <= cap(f.spare) {
		frame = f.spare[:headerLen]
	} else {
		frame = make([]byte, headerLen, headerLen+min(bodyLen, firstBodyChunk))
		if cap(frame) <= firstBodyChunk+5 {
			f.spare = frame
		}
	}
	copy(frame, header[:headerLen])
	for len(frame) < total {
		if len(frame) == cap(frame) {
			frame = slices.Grow(frame, min(cap(frame), total-len(frame)))
		}
		n, err := f.src.Read(frame[len(frame):min(cap(frame), total)])
		frame = frame[:len(frame)+n]
		if err != nil && len(frame) < total {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return frame, nil
}
