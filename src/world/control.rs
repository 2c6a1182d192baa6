//! Live control, as the page drives a run: faults injected now
//! ([`World::inject`]), clients added mid-run ([`World::add_client`]) and
//! client settings changed live ([`World::set_client`]). Every change is
//! validated like the scenario entry it becomes, and appended to the world's
//! scenario so an export replays it.

use super::build::{intern_client, intern_key, new_slot};
use super::World;
use crate::broker::log;
use crate::broker::{Broker, ClientId, KeyId};
use crate::client::{ClientSettings, NewKeys};
use crate::config::{BrokerSpec, ClientSpec, FaultSpec, ProcessingSpec, ScenarioError};
use crate::config::{Setting, SettingSpec};
use crate::history::{Entry, Proc};
use crate::sim::net::Link;

impl World {
    /// Applies a fault right now, as the page's buttons do. `fault.at_ms` is
    /// replaced by [`World::now_ms`]; the target and action follow the same
    /// rules as a scenario's `faults` (an error names `faults[N].field`). The
    /// fault is appended to the world's scenario, so exporting
    /// [`World::scenario`] shows what was done and when.
    pub fn inject(&mut self, mut fault: FaultSpec) -> Result<(), ScenarioError> {
        fault.at_ms = self.now_ms;
        self.check_faults(std::slice::from_ref(&fault))?;
        self.scenario.faults.push(fault.clone());
        self.apply_fault(&fault);
        Ok(())
    }

    /// Whether [`World::inject`] would take every one of `faults` now,
    /// changing nothing: the scenario with them appended must validate. So
    /// a caller can check a group of faults (or two runs) before doing any.
    pub fn check_faults(&self, faults: &[FaultSpec]) -> Result<(), ScenarioError> {
        let mut candidate = self.scenario.clone();
        candidate.faults.extend(faults.iter().map(|f| FaultSpec {
            at_ms: self.now_ms,
            ..f.clone()
        }));
        candidate.validate()
    }

    /// Adds a producer or consumer mid-run, validated like a scenario client
    /// (an error names `clients[N].field`). A producer (queue or log) starts
    /// publishing at `max(spec.start_ms, now)`; its keys are interned and hashed like the
    /// scenario's own. The client is appended to the world's scenario.
    pub fn add_client(&mut self, mut spec: ClientSpec) -> Result<(), ScenarioError> {
        spec.start_no_earlier_than(self.now_ms);
        let mut candidate = self.scenario.clone();
        candidate.clients.push(spec.clone());
        candidate.validate()?;
        self.scenario = candidate;
        let (keys_before, groups_before) = (self.names.keys.len(), self.names.groups.len());
        let headers_before = self.names.headers.len();
        intern_client(&mut self.names, &spec);
        for node in &mut self.nodes {
            for k in keys_before..self.names.keys.len() {
                node.broker.add_key(&self.names.keys[k]);
            }
            for table in &self.names.headers[headers_before..] {
                node.broker.add_headers(table);
            }
            for _ in groups_before..self.names.groups.len() {
                if let Broker::Log(b) = &mut node.broker {
                    b.add_group();
                }
            }
        }
        let id = self.clients.len() as ClientId;
        let net = spec.network().unwrap_or(self.scenario.network);
        self.links.push(Link::new(&net));
        let slot = new_slot(&self.scenario, &self.names, id, &spec);
        self.clients.push(slot);
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
    /// `SETTING_SEQ_BASE` in `clock.rs`) both ways, so the histories match byte for byte.
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
            _ => NewKeys::default(),
        };
        self.with_client(c as ClientId, |client, ctx| {
            client.apply_setting(ctx, set, keys)
        });
    }

    /// The page's key strategy `k0..k{n-1}` for producer `c`: interns new
    /// keys (the broker learns them) and, on the log broker, gives each its
    /// partition by the default partitioner's murmur2 hash.
    fn intern_page_keys(&mut self, c: usize, n: u32) -> NewKeys {
        let partitions = match (&self.scenario.clients[c], &self.scenario.broker) {
            (ClientSpec::LogProducer(p), BrokerSpec::Log(b)) => b
                .topics
                .iter()
                .find(|t| t.name == p.topic)
                .map(|t| t.partitions),
            _ => None,
        };
        let mut keys = NewKeys::default();
        for j in 0..n {
            let name = format!("k{j}");
            if !self.names.keys.contains(&name) {
                intern_key(&mut self.names, &name);
                for node in &mut self.nodes {
                    node.broker.add_key(&name);
                }
            }
            let id = self
                .names
                .keys
                .iter()
                .position(|k| *k == name)
                .expect("interned") as KeyId;
            keys.keys.push(id);
            if let Some(p) = partitions {
                let partition = log::partition_for_key(name.as_bytes(), p);
                keys.partitions.push((id, partition));
            }
        }
        keys
    }

    /// A live client's current settings, as the page's settings row shows
    /// them (`None` for an unknown id).
    pub fn client_settings(&self, client_id: &str) -> Option<ClientSettings> {
        let c = self.names.clients.iter().position(|n| n == client_id)?;
        Some(self.clients[c].client.settings())
    }
}
