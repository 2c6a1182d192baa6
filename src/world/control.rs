//! Live control, as the page drives a run: faults injected now
//! ([`World::inject`]), clients added mid-run ([`World::add_client`]) and
//! client settings changed live ([`World::set_client`]). Every change is
//! validated like the scenario entry it becomes, and appended to the world's
//! scenario so an export replays it.

use super::build::{build_client, intern_client, intern_key};
use super::{ClientKind, World};
use crate::broker::log;
use crate::broker::{Broker, ClientId, KeyId};
use crate::config::{
    AckMode, BrokerSpec, ClientSpec, CommitMode, FaultSpec, ProcessingSpec, ScenarioError,
};
use crate::config::{Setting, SettingSpec};
use crate::history::{Entry, Proc};
use crate::sim::net::Link;

/// A live client's settings (see [`World::client_settings`]); `None` where
/// the client kind has no such setting or it cannot change live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// A producer's publish rate.
    pub rate_per_s: Option<u64>,
    /// How many keys a producer spreads its messages over (`k0..`).
    pub keys: Option<u32>,
    /// A consumer's processing time per message.
    pub processing: Option<ProcessingSpec>,
    /// Queue `prefetch` or log `max.poll.records`.
    pub prefetch: Option<u32>,
    /// A queue consumer's ack mode.
    pub ack_mode: Option<AckMode>,
    /// A log consumer's manual commit mode (`None` with `enable.auto.commit`).
    pub commit: Option<CommitMode>,
}

impl World {
    /// Applies a fault right now, as the page's buttons do. `fault.at_ms` is
    /// replaced by [`World::now_ms`]; the target and action follow the same
    /// rules as a scenario's `faults` (an error names `faults[N].field`). The
    /// fault is appended to the world's scenario, so exporting
    /// [`World::scenario`] shows what was done and when.
    pub fn inject(&mut self, mut fault: FaultSpec) -> Result<(), ScenarioError> {
        fault.at_ms = self.now_ms;
        let mut candidate = self.scenario.clone();
        candidate.faults.push(fault.clone());
        candidate.validate()?;
        self.scenario = candidate;
        self.apply_fault(&fault);
        Ok(())
    }

    /// Adds a producer or consumer mid-run, validated like a scenario client
    /// (an error names `clients[N].field`). A producer starts publishing at
    /// `max(spec.start_ms, now)`; its keys are interned and hashed like the
    /// scenario's own. The client is appended to the world's scenario.
    pub fn add_client(&mut self, mut spec: ClientSpec) -> Result<(), ScenarioError> {
        if let ClientSpec::Producer(p) = &mut spec {
            p.start_ms = p.start_ms.max(self.now_ms);
        }
        let mut candidate = self.scenario.clone();
        candidate.clients.push(spec.clone());
        candidate.validate()?;
        self.scenario = candidate;
        let (keys_before, groups_before) = (self.names.keys.len(), self.names.groups.len());
        intern_client(&mut self.names, &spec);
        for k in keys_before..self.names.keys.len() {
            self.broker.add_key(&self.names.keys[k]);
        }
        for _ in groups_before..self.names.groups.len() {
            if let Broker::Log(b) = &mut self.broker {
                b.add_group();
            }
        }
        let id = self.clients.len() as ClientId;
        let net = spec.network().unwrap_or(self.scenario.network);
        self.links.push(Link::new(&net));
        let client = build_client(&self.scenario, &self.names, id, &spec);
        self.clients.push(client);
        assert_eq!(self.clients.len(), self.names.clients.len());
        assert_eq!(self.clients.len(), self.links.len());
        self.start_client(id);
        Ok(())
    }

    /// Changes a consumer's processing time from the next message on (the
    /// page's "Slow" toggle): [`World::set_client`] with
    /// [`Setting::Processing`].
    pub fn set_processing(
        &mut self,
        client_id: &str,
        processing: ProcessingSpec,
    ) -> Result<(), ScenarioError> {
        self.set_client(client_id, Setting::Processing(processing))
    }

    /// Changes one setting of a live client right now, as the page's
    /// per-client settings do. The change is validated like a scenario's
    /// `settings` entry (an error names `settings[N].set.field` and says
    /// why), appended to the world's scenario at [`World::now_ms`] so an
    /// export replays it, recorded as a `setting` event, and applied from the
    /// client's next decision (see [`crate::scenario::settings`] for what stays as it
    /// was). Refused changes leave the world untouched.
    ///
    /// Why it is scheduled rather than applied in place: a replay of the
    /// exported scenario schedules the change when the world starts, so it
    /// must sort the same way among the other events of its millisecond. A
    /// change runs after every other event of its millisecond (see
    /// [`SETTING_SEQ_BASE`]) both ways, so the histories match byte for byte.
    pub fn set_client(&mut self, client_id: &str, set: Setting) -> Result<(), ScenarioError> {
        let mut candidate = self.scenario.clone();
        candidate.settings.push(SettingSpec {
            at_ms: self.now_ms,
            client: client_id.to_string(),
            set,
        });
        candidate.validate()?;
        self.scenario = candidate;
        self.schedule_setting(self.now_ms, self.scenario.settings.len() - 1);
        // Run what is due now, the change last: usually just the change. A
        // run bound or a flush still in IndexedDB stops this short; the
        // change then applies at the next step, in the same order.
        let _ = self.run_until(self.now_ms);
        Ok(())
    }

    /// Applies `settings[i]` (validated) to its client.
    pub(super) fn apply_setting(&mut self, i: usize) {
        let SettingSpec { client, set, .. } = self.scenario.settings[i].clone();
        let c = self
            .names
            .clients
            .iter()
            .position(|n| *n == client)
            .expect("validated: a known client");
        self.record(Proc::Client(c as ClientId), Entry::Setting(set));
        let keys = match set {
            Setting::Keys(n) => self.intern_page_keys(c, n),
            _ => (Vec::new(), Vec::new()),
        };
        let mut out = std::mem::take(&mut self.client_out);
        let now = self.now_ms;
        match (&mut self.clients[c].kind, set) {
            (ClientKind::Producer(p), Setting::RatePerS(rate)) => p.set_rate(now, 1000, rate),
            (ClientKind::Producer(p), Setting::Keys(_)) => p.set_keys(keys.0, &keys.1),
            (ClientKind::Consumer(k), Setting::Processing(x)) => k.set_processing(x),
            (ClientKind::LogConsumer(k), Setting::Processing(x)) => k.set_processing(x),
            (ClientKind::TxnProducer(k), Setting::Processing(x)) => k.set_processing(x),
            (ClientKind::Consumer(k), Setting::Prefetch(n)) => k.set_prefetch(n, &mut out),
            (ClientKind::LogConsumer(k), Setting::Prefetch(n)) => k.set_max_poll_records(n),
            (ClientKind::Consumer(k), Setting::AckMode(mode)) => k.set_ack_mode(mode),
            _ => unreachable!("validated: {} fits {client}", set.name()),
        }
        self.apply_client_outputs(c as ClientId, &mut out);
        self.client_out = out;
    }

    /// The page's key strategy `k0..k{n-1}` for producer `c`: interns new
    /// keys (the broker learns them) and, on the log broker, gives each its
    /// partition by the default partitioner's murmur2 hash.
    fn intern_page_keys(
        &mut self,
        c: usize,
        n: u32,
    ) -> (Vec<KeyId>, Vec<(KeyId, log::PartitionId)>) {
        let partitions = match (&self.scenario.clients[c], &self.scenario.broker) {
            (ClientSpec::LogProducer(p), BrokerSpec::Log(b)) => b
                .topics
                .iter()
                .find(|t| t.name == p.topic)
                .map(|t| t.partitions),
            _ => None,
        };
        let mut ids = Vec::new();
        let mut parts = Vec::new();
        for j in 0..n {
            let name = format!("k{j}");
            if !self.names.keys.contains(&name) {
                intern_key(&mut self.names, &name);
                self.broker.add_key(&name);
            }
            let id = self
                .names
                .keys
                .iter()
                .position(|k| *k == name)
                .expect("interned") as KeyId;
            ids.push(id);
            if let Some(p) = partitions {
                parts.push((id, log::partition_for_key(name.as_bytes(), p)));
            }
        }
        (ids, parts)
    }

    /// A live client's current settings, as the page's settings row shows
    /// them (`None` for an unknown id).
    pub fn client_settings(&self, client_id: &str) -> Option<ClientSettings> {
        let c = self.names.clients.iter().position(|n| n == client_id)?;
        let none = ClientSettings::default();
        Some(match &self.clients[c].kind {
            ClientKind::Producer(p) => ClientSettings {
                rate_per_s: Some(p.rate_per_s()),
                keys: Some(p.key_count() as u32),
                ..none
            },
            ClientKind::Consumer(k) => ClientSettings {
                processing: Some(k.processing()),
                prefetch: Some(k.prefetch()),
                ack_mode: Some(k.ack_mode()),
                ..none
            },
            ClientKind::LogConsumer(k) => ClientSettings {
                processing: Some(k.processing()),
                prefetch: Some(k.max_poll_records()),
                commit: k.commit_mode(),
                ..none
            },
            ClientKind::TxnProducer(k) => ClientSettings {
                processing: Some(k.processing()),
                ..none
            },
        })
    }
}
