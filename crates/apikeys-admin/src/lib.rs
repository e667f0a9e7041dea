#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod admin;
mod api;
mod auth;
mod forms;
mod openapi;
mod pages;
mod reply;
mod request;
mod routes;
mod session;
mod text;
mod views;

#[cfg(feature = "actix-web")]
pub mod actix;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "warp")]
pub mod warp;

pub use crate::admin::{Admin, AdminBuilder, DEFAULT_MOUNT, DEFAULT_SCOPE};
pub use crate::reply::AdminResponse;
pub use crate::request::AdminRequest;
