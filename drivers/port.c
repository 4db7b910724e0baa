/*
 * port.c — ethdev set-up for each configured port: one RX/TX queue pair per
 * worker, RSS with a symmetric key when the device supports it, checksum
 * offloads when it has them, MTU, and link-state polling for the control
 * plane. Runs before the workers start (main.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <rte_ethdev.h>

#include "drivers/port.h"

/* Symmetric Toeplitz key: a flow and its reverse hash to the same queue. */
static uint8_t port_rss_key_bytes[PORT_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

const uint8_t *
port_rss_key(void)
{
	return port_rss_key_bytes;
}

void
port_format_mac(const struct rte_ether_addr *mac, char *buf, size_t len)
{
	const uint8_t *b = mac->addr_bytes;
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

/* af_packet's "iface=NAME" argument, or "" for other devices. */
static void
port_kernel_if(const char *device, char *out, size_t len)
{
	const char *v = strstr(device, ",iface=");

	out[0] = '\0';
	if (strncmp(device, "net_af_packet", 13) != 0 || v == NULL)
		return;
	v += 7;
	size_t n = strcspn(v, ",");
	if (n < len) {
		memcpy(out, v, n);
		out[n] = '\0';
	}
}

/*
 * net_af_packet reports a static "up"; its link is really the kernel
 * interface's carrier. Returns 1 (carrier), 0 (none), -1 (unknown).
 */
static int
port_kernel_carrier(const char *ifname)
{
	char path[96], c = '1';
	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", ifname);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fread(&c, 1, 1, f) != 1)
		c = '0';     /* reading carrier of a down interface fails: no link */
	fclose(f);
	return c == '1';
}

void
port_dev_name(const char *device, char *name, size_t len)
{
	size_t n = strcspn(device, ",");
	if (n >= len)
		n = len - 1;
	memcpy(name, device, n);
	name[n] = '\0';
}

void
port_eal_device(const char *device, unsigned n_queues, unsigned ring_size, char *out, size_t len)
{
	int n = snprintf(out, len, "%s", device);

	if (strncmp(device, "net_af_packet", 13) != 0)
		return;
	if (strstr(device, "qpairs=") == NULL && n >= 0 && (size_t)n < len)
		n += snprintf(out + n, len - n, ",qpairs=%u", n_queues);
	if (strstr(device, "framecnt=") == NULL && n >= 0 && (size_t)n < len)
		snprintf(out + n, len - n, ",framecnt=%u", ring_size);
}

static int
port_find(const struct cfg_port *cp, uint16_t *port_id)
{
	char name[RTE_ETH_NAME_MAX_LEN];

	port_dev_name(cp->device, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	if (cp->is_pci && strlen(name) < 12) {          /* "BB:DD.F" -> "0000:BB:DD.F" */
		char full[RTE_ETH_NAME_MAX_LEN];
		snprintf(full, sizeof(full), "0000:%s", name);
		if (rte_eth_dev_get_port_by_name(full, port_id) == 0)
			return 0;
	}
	return -ENODEV;
}

/* Decide offloads and RSS from what the device says it can do. */
static void
port_conf(struct port *p, const struct rte_eth_dev_info *info, struct rte_eth_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	p->rss = p->n_queues > 1 && (info->flow_type_rss_offloads & RTE_ETH_RSS_IP) != 0;
	if (p->rss) {
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_key = port_rss_key_bytes;
		conf->rx_adv_conf.rss_conf.rss_key_len = sizeof(port_rss_key_bytes);
		conf->rx_adv_conf.rss_conf.rss_hf = info->flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP);
	}
	p->rx_ip_csum = (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
	if (p->rx_ip_csum)
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	p->tx_ip_csum = (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
	if (p->tx_ip_csum)
		conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	conf->intr_conf.lsc = 0;  /* link state is polled by the control plane */
}

int
port_setup(struct port *p, unsigned index, const struct cfg_port *cp, unsigned n_queues,
	   struct rte_mempool *const *pools, const struct cfg_limits *lim,
	   char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int rc;

	memset(p, 0, sizeof(*p));
	p->index = index;
	snprintf(p->name, sizeof(p->name), "%s", cp->name);
	p->addr = cp->addr;
	p->prefix_len = cp->prefix_len;
	p->mask = cp->prefix_len == 0 ? 0 : 0xffffffffu << (32 - cp->prefix_len);
	p->gateway = cp->gateway;
	p->mtu = cp->mtu;
	p->n_queues = (uint16_t)n_queues;
	port_kernel_if(cp->device, p->kernel_if, sizeof(p->kernel_if));
	if (port_find(cp, &p->port_id) != 0) {
		snprintf(err, errlen, "port %s: device \"%s\" not found (check ports.device and "
			 "that the interface or PCI device exists)", cp->name, cp->device);
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc != 0)
		goto fail;
	snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
	if (n_queues > info.max_rx_queues || n_queues > info.max_tx_queues) {
		snprintf(err, errlen, "port %s: %u workers need %u queues, device has %u RX / %u TX",
			 cp->name, n_queues, n_queues, info.max_rx_queues, info.max_tx_queues);
		return -EINVAL;
	}
	port_conf(p, &info, &conf);
	rc = rte_eth_dev_configure(p->port_id, n_queues, n_queues, &conf);
	if (rc != 0)
		goto fail;
	rc = rte_eth_dev_set_mtu(p->port_id, p->mtu);
	if (rc != 0 && rc != -ENOTSUP)
		goto fail;
	uint16_t rxd = lim->rx_descriptors, txd = lim->tx_descriptors;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &rxd, &txd);
	if (rc != 0)
		goto fail;
	for (unsigned q = 0; q < n_queues; q++) {
		int sock = rte_eth_dev_socket_id(p->port_id);
		rc = rte_eth_rx_queue_setup(p->port_id, q, rxd, sock, NULL, pools[q]);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(p->port_id, q, txd, sock, NULL);
		if (rc != 0)
			goto fail;
	}
	rc = rte_eth_macaddr_get(p->port_id, &p->mac);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "port %s (%s): set-up failed: %s", cp->name, cp->device, rte_strerror(-rc));
	return rc < 0 ? rc : -EIO;
}

int
port_start(struct port *p, char *err, size_t errlen)
{
	int rc = rte_eth_dev_start(p->port_id);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: cannot start: %s", p->name, rte_strerror(-rc));
		return rc;
	}
	port_poll_link(p);
	return 0;
}

void
port_close(struct port *p)
{
	rte_eth_dev_stop(p->port_id);
	rte_eth_dev_close(p->port_id);
}

int
port_poll_link(struct port *p)
{
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait(p->port_id, &link) != 0)
		return 0;
	bool up = link.link_status == RTE_ETH_LINK_UP;
	if (up && p->kernel_if[0] != '\0' && port_kernel_carrier(p->kernel_if) == 0)
		up = false;
	if (up == p->link_up && link.link_speed == p->link_speed)
		return 0;
	p->link_up = up;
	p->link_speed = link.link_speed;
	return 1;
}
