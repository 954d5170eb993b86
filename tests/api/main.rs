//! Integration tests: the whole app, in-process, against a real PostgreSQL database per test.

mod access;
mod audit;
mod cli;
mod common;
mod contract;
mod conventions;
mod demo;
mod deployment;
mod evaluations;
mod hardening;
mod health;
mod imports;
mod logs;
mod members;
mod metrics;
mod openapi;
mod organisations;
mod readme;
mod reorganisations;
mod reports;
mod reports_through_time;
mod resolutions;
mod tokens;
mod writes;
