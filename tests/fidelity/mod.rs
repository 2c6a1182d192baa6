//! The fidelity harness: experiments run on a real RabbitMQ and on our queue broker.

pub mod experiments;
pub mod ours;
pub mod plan;
pub mod rabbit;
