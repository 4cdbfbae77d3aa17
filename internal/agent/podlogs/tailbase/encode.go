package tailbase

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// EncodeLogs returns the OTLP/HTTP protobuf body (ExportLogsServiceRequest) both tailers ship.
func EncodeLogs(ld plog.Logs) ([]byte, error) {
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return nil, fmt.Errorf("marshal OTLP logs: %w", err)
	}
	return b, nil
}
