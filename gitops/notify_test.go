package gitops

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/fluxtest"
)

func TestNotifyGenericHMAC(t *testing.T) {
	var got []byte
	hook := fluxtest.Receiver(t, "receiver-secret", &got)
	payload := []byte(`{"chart":"hello-world","version":"1.3.0"}`)
	res, err := Notify(context.Background(), hook+"/hook/0123456789abcdef", NotifyOptions{Token: "receiver-secret", Payload: payload})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.Status)
	assert.True(t, res.Signed)
	assert.Equal(t, payload, got)
	assert.NotContains(t, res.Receiver, "0123456789abcdef", "the secret hook path is shortened")

	_, err = Notify(context.Background(), hook+"/hook/0123456789abcdef", NotifyOptions{Token: "wrong-secret"})
	require.ErrorIs(t, err, errdef.ErrExternal)
	assert.Contains(t, err.Error(), "401")
	assert.NotContains(t, err.Error(), "wrong-secret")

	_, err = Notify(context.Background(), hook+"/hook/0123456789abcdef", NotifyOptions{})
	require.ErrorIs(t, err, errdef.ErrUsage, "generic-hmac without a token")
}

func TestNotifyGeneric(t *testing.T) {
	var got []byte
	hook := fluxtest.Receiver(t, "", &got)
	res, err := Notify(context.Background(), hook+"/hook/0123456789abcdef", NotifyOptions{Type: ReceiverGeneric})
	require.NoError(t, err)
	assert.False(t, res.Signed)
	assert.Equal(t, "{}", string(got))

	_, err = Notify(context.Background(), hook+"/hook/nope", NotifyOptions{Type: ReceiverGeneric})
	require.ErrorIs(t, err, errdef.ErrExternal)
	assert.Contains(t, err.Error(), "404")

	_, err = Notify(context.Background(), "ftp://x", NotifyOptions{Type: ReceiverGeneric})
	require.ErrorIs(t, err, errdef.ErrUsage)
}

func TestSignKnownVector(t *testing.T) {
	// echo -n '{}' | openssl dgst -sha256 -hmac key
	assert.Equal(t, "sha256=a777724d943eb48dc69bca8a4a6d57a04db3f9ec7e1de4e581e860265bdf3032", Sign("key", []byte("{}")))
}
