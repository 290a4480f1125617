use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};

fn args(flags: &[&str]) -> ServeArgs {
    let mut argv = vec!["nimbus", "serve"];
    argv.extend_from_slice(flags);
    match Cli::try_parse_from(argv).expect("flags parse").command {
        Command::Serve(args) => args,
        Command::Logs(_) => panic!("`serve` parsed as `logs`"),
    }
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn config_file(text: &str) -> (tempdir::Dir, String) {
    let dir = tempdir::Dir::new();
    let path = dir.path.join("nimbus.toml");
    std::fs::write(&path, text).unwrap();
    let display = path.display().to_string();
    (dir, display)
}

/// A throw-away directory without an extra dependency.
mod tempdir {
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Self {
            let path =
                std::env::temp_dir().join(format!("nimbus-settings-{}", nimbus_core::ids::uuid()));
            std::fs::create_dir_all(&path).unwrap();
            Dir { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[test]
fn defaults_apply_when_nothing_is_given() {
    let settings = Settings::resolve(args(&[]), &env(&[("HOME", "/home/u")])).unwrap();
    assert_eq!(settings.host, "localhost");
    assert_eq!(settings.port, 4566);
    assert_eq!(settings.region, "us-east-1");
    assert_eq!(settings.account, "000000000000");
    assert_eq!(settings.auth, AuthMode::Off);
    assert_eq!(settings.clock, ClockMode::Real);
    assert_eq!(settings.log_format, LogFormat::Text);
    assert_eq!(
        settings.storage,
        Storage::Directory(PathBuf::from("/home/u/.local/share/nimbus"))
    );
}

#[test]
fn xdg_data_home_wins_over_home() {
    let settings = Settings::resolve(
        args(&[]),
        &env(&[("HOME", "/home/u"), ("XDG_DATA_HOME", "/data")]),
    )
    .unwrap();
    assert_eq!(
        settings.storage,
        Storage::Directory(PathBuf::from("/data/nimbus"))
    );
}

#[test]
fn flags_beat_environment_beat_file_beat_defaults() {
    let (_dir, path) = config_file(
        "port = 1111\nregion = \"eu-west-1\"\naccount = \"111111111111\"\nclock = \"test\"\nin_memory = true\n",
    );
    let environment = env(&[
        ("NIMBUS_CONFIG", &path),
        ("NIMBUS_PORT", "2222"),
        ("NIMBUS_REGION", "eu-west-2"),
    ]);

    let from_env = Settings::resolve(args(&[]), &environment).unwrap();
    assert_eq!(from_env.port, 2222, "env beats file");
    assert_eq!(from_env.region, "eu-west-2");
    assert_eq!(from_env.account, "111111111111", "file beats default");
    assert_eq!(from_env.clock, ClockMode::Test);
    assert_eq!(from_env.storage, Storage::InMemory);

    let from_flags = Settings::resolve(
        args(&["--port", "3333", "--region", "ap-south-1"]),
        &environment,
    )
    .unwrap();
    assert_eq!(from_flags.port, 3333, "flag beats env");
    assert_eq!(from_flags.region, "ap-south-1");
}

#[test]
fn unknown_file_fields_are_rejected() {
    let (_dir, path) = config_file("prot = 1\n");
    let err = Settings::resolve(args(&["--config", &path, "--in-memory"]), &env(&[])).unwrap_err();
    assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
}

#[test]
fn strict_auth_needs_keys_and_keys_come_from_any_layer() {
    assert!(Settings::resolve(args(&["--in-memory", "--auth", "strict"]), &env(&[])).is_err());
    let flags = Settings::resolve(
        args(&[
            "--in-memory",
            "--auth",
            "strict",
            "--access-key",
            "AK1:s1",
            "--access-key",
            "AK2:s2",
        ]),
        &env(&[]),
    )
    .unwrap();
    assert_eq!(flags.access_keys.len(), 2);
    let from_env = Settings::resolve(
        args(&["--in-memory"]),
        &env(&[
            ("NIMBUS_AUTH", "strict"),
            ("NIMBUS_ACCESS_KEYS", "AK1:s1,AK2:s2"),
        ]),
    )
    .unwrap();
    assert_eq!(from_env.auth, AuthMode::Strict);
    assert_eq!(from_env.access_keys[1].0, "AK2");
    let (_dir, path) = config_file("auth = \"strict\"\n[access_keys]\nAKFILE = \"secret\"\n");
    let from_file =
        Settings::resolve(args(&["--in-memory", "--config", &path]), &env(&[])).unwrap();
    assert_eq!(from_file.access_keys[0].0, "AKFILE");
}

#[test]
fn bad_values_are_reported_without_secrets() {
    let bad_account = Settings::resolve(args(&["--in-memory", "--account", "12"]), &env(&[]));
    assert!(bad_account.is_err());
    let bad_port = Settings::resolve(args(&["--in-memory"]), &env(&[("NIMBUS_PORT", "http")]));
    assert!(format!("{:#}", bad_port.unwrap_err()).contains("NIMBUS_PORT"));
    let bad_key = Settings::resolve(args(&["--in-memory", "--access-key", "hunter2"]), &env(&[]));
    assert!(!format!("{:#}", bad_key.unwrap_err()).contains("hunter2"));
}

#[test]
fn async_retry_scale_comes_from_flag_env_or_file() {
    let home = ("HOME", "/home/u");
    let default = Settings::resolve(args(&[]), &env(&[home])).unwrap();
    assert_eq!(default.async_retry_scale, 1.0);
    let flag = Settings::resolve(args(&["--async-retry-scale", "0.001"]), &env(&[home])).unwrap();
    assert_eq!(flag.async_retry_scale, 0.001);
    let from_env = Settings::resolve(
        args(&[]),
        &env(&[home, ("NIMBUS_ASYNC_RETRY_SCALE", "0.5")]),
    )
    .unwrap();
    assert_eq!(from_env.async_retry_scale, 0.5);
    let (_dir, path) = config_file("async_retry_scale = 0.01\n");
    let from_file = Settings::resolve(args(&["--config", &path]), &env(&[home])).unwrap();
    assert_eq!(from_file.async_retry_scale, 0.01);
    assert!(Settings::resolve(args(&["--async-retry-scale", "0"]), &env(&[home])).is_err());
    assert!(Settings::resolve(args(&["--async-retry-scale", "2"]), &env(&[home])).is_err());
}

#[test]
fn lambda_sdk_dir_comes_from_flag_env_or_file() {
    use crate::settings::LambdaSdk;
    let home = ("HOME", "/home/u");
    let default = Settings::resolve(args(&[]), &env(&[home])).unwrap();
    assert_eq!(default.lambda_sdk, LambdaSdk::Default);
    let flag = Settings::resolve(args(&["--lambda-sdk-dir", "/opt/sdk"]), &env(&[home])).unwrap();
    assert_eq!(flag.lambda_sdk, LambdaSdk::Dir("/opt/sdk".into()));
    let from_env =
        Settings::resolve(args(&[]), &env(&[home, ("NIMBUS_LAMBDA_SDK_DIR", "off")])).unwrap();
    assert_eq!(from_env.lambda_sdk, LambdaSdk::Off);
    let (_dir, path) = config_file("lambda_sdk_dir = \"/srv/sdk\"\n");
    let from_file = Settings::resolve(args(&["--config", &path]), &env(&[home])).unwrap();
    assert_eq!(from_file.lambda_sdk, LambdaSdk::Dir("/srv/sdk".into()));
}
