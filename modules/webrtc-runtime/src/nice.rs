// SPDX-License-Identifier: MPL-2.0
//! Restricting ICE gathering to chosen interfaces (`networkInterfaces`,
//! `KMS_NETWORK_INTERFACES`). webrtcbin 1.22 exposes libnice's `NiceAgent` but not
//! `nice_agent_add_local_address`, and libnice skips loopback addresses unless told to use them
//! this way, so the function is looked up in the already loaded libnice at run time (no `-dev`
//! package needed to build).

use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::OnceLock;

use gst::glib;
use gst::prelude::*;

struct Nice {
    _lib: libloading::Library,
    address_new: unsafe extern "C" fn() -> *mut c_void,
    address_free: unsafe extern "C" fn(*mut c_void),
    address_set_from_string: unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int,
    add_local_address: unsafe extern "C" fn(*mut c_void, *const c_void) -> c_int,
}

fn nice() -> Option<&'static Nice> {
    static NICE: OnceLock<Option<Nice>> = OnceLock::new();
    NICE.get_or_init(|| unsafe {
        let lib = libloading::Library::new("libnice.so.10").ok()?;
        let address_new = *lib.get(b"nice_address_new\0").ok()?;
        let address_free = *lib.get(b"nice_address_free\0").ok()?;
        let address_set_from_string = *lib.get(b"nice_address_set_from_string\0").ok()?;
        let add_local_address = *lib.get(b"nice_agent_add_local_address\0").ok()?;
        Some(Nice {
            _lib: lib,
            address_new,
            address_free,
            address_set_from_string,
            add_local_address,
        })
    })
    .as_ref()
}

/// IPv4/IPv6 addresses of the named interfaces (`lo`, `eth0`…), in interface order.
pub fn interface_addresses(names: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    unsafe {
        let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut ifap) != 0 {
            return out;
        }
        let mut p = ifap;
        while !p.is_null() {
            let ifa = &*p;
            p = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name).to_string_lossy();
            if !names.iter().any(|n| n == name.as_ref()) {
                continue;
            }
            match (*ifa.ifa_addr).sa_family as i32 {
                libc::AF_INET => {
                    let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    let ip = std::net::Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr));
                    out.push(ip.to_string());
                }
                libc::AF_INET6 => {
                    let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    let ip = std::net::Ipv6Addr::from(sa.sin6_addr.s6_addr);
                    // Link-local addresses need a scope id libnice cannot take from a string.
                    if !ip.is_unicast_link_local() {
                        out.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
        libc::freeifaddrs(ifap);
    }
    out
}

/// Adds `addresses` as the only local addresses of webrtcbin's ICE agent. Must run before
/// gathering starts (before the local description is set). Errors name what is missing.
pub fn restrict_to(webrtcbin: &gst::Element, addresses: &[String]) -> Result<(), String> {
    let nice = nice().ok_or("libnice.so.10 cannot be loaded")?;
    let ice = webrtcbin.property::<glib::Object>("ice-agent");
    if ice.find_property("agent").is_none() {
        return Err("webrtcbin's ICE agent does not expose its NiceAgent".into());
    }
    let agent = ice.property::<glib::Object>("agent");
    for a in addresses {
        let c = CString::new(a.as_str()).map_err(|_| "bad address")?;
        unsafe {
            let addr = (nice.address_new)();
            let ok = (nice.address_set_from_string)(addr, c.as_ptr()) != 0
                && (nice.add_local_address)(agent.as_ptr() as *mut c_void, addr) != 0;
            (nice.address_free)(addr);
            if !ok {
                return Err(format!("libnice refused local address {a}"));
            }
        }
    }
    Ok(())
}
