//! The spawned binary: ready line, endpoints, signals, configuration errors.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nimbus_server::testing::{read_response, send};
use tokio::io::AsyncWriteExt;

struct Nimbus {
    child: Child,
    addr: SocketAddr,
}

impl Nimbus {
    fn start(extra: &[&str]) -> Nimbus {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nimbus"))
            .args(["serve", "--port", "0", "--in-memory"])
            .args(extra)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nimbus");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("ready line within 30 s");
        let url = line
            .split("listening on ")
            .nth(1)
            .map(str::trim)
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
        assert!(
            line.starts_with(&format!("nimbus {} ", env!("CARGO_PKG_VERSION"))),
            "{line}"
        );
        let addr = url
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .expect("address in URL");
        Nimbus { child, addr }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM");
    }

    fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Nimbus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn serves_health_and_the_test_clock_on_the_announced_address() {
    let nimbus = Nimbus::start(&["--clock", "test"]);
    assert!(nimbus.addr.ip().is_loopback() && nimbus.addr.is_ipv4());
    let health = send(nimbus.addr, "GET", "/_nimbus/health", &[], b"")
        .await
        .unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let clock = send(nimbus.addr, "GET", "/_nimbus/clock", &[], b"")
        .await
        .unwrap();
    assert_eq!(clock.json()["mode"], "test");
    let unknown = send(nimbus.addr, "GET", "/nothing", &[], b"")
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_then_exits_zero() {
    let mut nimbus = Nimbus::start(&[]);
    // A request whose body is still arriving is in flight when the signal comes.
    let mut stream = tokio::net::TcpStream::connect(nimbus.addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\nx-amz-target: AmazonSQS.ListQueues\r\n\
         content-type: application/x-amz-json-1.0\r\ncontent-length: 20\r\nconnection: close\r\n\r\n",
        nimbus.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"{\"QueueNam").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    nimbus.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        nimbus.child.try_wait().unwrap().is_none(),
        "exited before the request finished"
    );
    assert!(
        tokio::net::TcpStream::connect(nimbus.addr).await.is_err(),
        "still accepting"
    );

    stream.write_all(b"ePrefix\":\"\"}").await.unwrap();
    let response = read_response(&mut stream).await.unwrap();
    assert!(response.status >= 200, "{response:?}");
    assert_eq!(nimbus.wait_exit(Duration::from_secs(15)), Some(0));
}

#[test]
fn invalid_configuration_exits_two_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_nimbus"))
        .args(["serve", "--in-memory", "--auth", "strict"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("access-key"));
    assert!(output.stdout.is_empty());
}
