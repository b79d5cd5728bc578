# bash completion for dinitctl(8) of dinit-rs.
#
# Completes the commands, the general options and each command's own options, dependency
# types, signal names, environment variable names and, where a service is expected, the
# names of the services loaded in the running daemon (from `dinitctl list`, using the -s/-u
# and -p options already on the command line). Without a reachable daemon there are no
# service names to offer. Needs nothing from the bash-completion package.
#
# Installed as /usr/share/bash-completion/completions/dinitctl.

_dinitctl_commands="start stop restart wake release status is-started is-failed unpin unload
reload list shutdown add-dep rm-dep enable disable trigger untrigger setenv unsetenv catlog
signal"
_dinitctl_general="--help --version -s --system -u --user -p --socket-path --use-passed-cfd
--quiet -o --offline -d --services-dir"

# The names of the loaded services. $1 is the dinitctl to run; the rest are socket options.
_dinitctl_services()
{
    local prog=$1
    shift
    local -a limit=()
    if command -v timeout >/dev/null 2>&1; then
        limit=(timeout 2)
    fi
    # A line of `dinitctl list` is "[" and 8 state characters, "] ", the name, then details.
    "${limit[@]}" "$prog" "$@" list 2>/dev/null </dev/null |
        sed -n 's/^\[.\{8\}\] \([^ ]*\).*$/\1/p'
}

_dinitctl()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=
    if ((COMP_CWORD > 0)); then
        prev=${COMP_WORDS[COMP_CWORD - 1]}
    fi
    COMPREPLY=()

    # The argument of an option.
    case $prev in
    -p | --socket-path)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
        ;;
    -d | --services-dir)
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
        ;;
    esac

    # Find the command, the socket options and how many operands follow the command.
    local prog=${COMP_WORDS[0]}
    local command= word i operands=0 only_operands=
    local -a sockopts=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -z $only_operands ]]; then
            case $word in
            --)
                only_operands=1
                continue
                ;;
            -p | --socket-path)
                sockopts+=(-p "${COMP_WORDS[i + 1]}")
                ((i++))
                continue
                ;;
            -d | --services-dir | --from)
                ((i++))
                continue
                ;;
            -s | --system | -u | --user)
                sockopts+=("$word")
                continue
                ;;
            -?*)
                continue
                ;;
            esac
        fi
        if [[ -z $command ]]; then
            command=$word
        else
            ((operands++))
        fi
    done

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$_dinitctl_general" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$_dinitctl_commands" -- "$cur")
        fi
        return 0
    fi

    if [[ $cur == -* && -z $only_operands ]]; then
        local own=
        case $command in
        start | wake) own="--no-wait --pin" ;;
        stop | restart) own="--no-wait --pin -f --force --ignore-unstarted" ;;
        release) own="--no-wait --pin --ignore-unstarted" ;;
        catlog) own="--clear" ;;
        enable | disable) own="--from" ;;
        signal) own="-l --list" ;;
        esac
        mapfile -t COMPREPLY < <(compgen -W "$own $_dinitctl_general" -- "$cur")
        return 0
    fi

    local want=
    case $command in
    list | shutdown) ;;
    setenv | unsetenv)
        mapfile -t COMPREPLY < <(compgen -e -- "$cur")
        ;;
    add-dep | rm-dep)
        if ((operands == 0)); then
            mapfile -t COMPREPLY < <(compgen -W "need milestone waits-for regular" -- "$cur")
        elif ((operands <= 2)); then
            want=service
        fi
        ;;
    signal)
        if ((operands == 0)); then
            mapfile -t COMPREPLY < <(compgen -W "HUP INT QUIT KILL USR1 USR2 TERM CONT STOP" -- "$cur")
        elif ((operands == 1)); then
            want=service
        fi
        ;;
    *)
        if ((operands == 0)) || [[ $prev == --from ]]; then
            want=service
        fi
        ;;
    esac
    if [[ $prev == --from ]]; then
        want=service
    fi
    if [[ $want == service ]]; then
        local services
        services=$(_dinitctl_services "$prog" "${sockopts[@]}")
        mapfile -t COMPREPLY < <(compgen -W "$services" -- "$cur")
    fi
    return 0
}

complete -F _dinitctl dinitctl
