package testenv

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(RunWithMoto(m)) }

// TestMotoServesOnLoopback starts moto through the shared script and asks
// its management API, over a real socket, whether it is up.
func TestMotoServesOnLoopback(t *testing.T) {
	url := Moto(t)
	if !strings.HasPrefix(url, "http://127.0.0.1:") && os.Getenv(MotoURLEnv) == "" {
		t.Fatalf("moto at %s, want loopback", url)
	}
	if again := Moto(t); again != url {
		t.Errorf("a second call started another moto: %s then %s", url, again)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/moto-api/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /moto-api/ = %d", res.StatusCode)
	}
}

func TestLastInt(t *testing.T) {
	if n, err := lastInt("moto 5.1.15 on 127.0.0.1:5000\n4242\n\n"); err != nil || n != 4242 {
		t.Errorf("lastInt = %d, %v", n, err)
	}
	if _, err := lastInt("moto did not start"); err == nil {
		t.Error("a line without a pid was read as one")
	}
}

func TestASLValidatorRefusesAndAccepts(t *testing.T) {
	check := ASLValidator(t)
	good := `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`
	if err := check(good); err != nil {
		t.Errorf("a valid definition was refused: %v", err)
	}
	err := check(`{"StartAt":"X","States":{}}`)
	if err == nil || !strings.Contains(err.Error(), "MISSING_TRANSITION_TARGET") {
		t.Errorf("a definition without its StartAt state: %v", err)
	}
}
