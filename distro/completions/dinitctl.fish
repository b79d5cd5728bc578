# fish completion for dinitctl(8) of dinit-rs.
#
# Completes the commands, the general options and each command's own options, dependency
# types, signal names, environment variable names and, where a service is expected, the
# names of the services loaded in the running daemon (from `dinitctl list`, using the -s/-u
# and -p options already on the command line). Without a reachable daemon there are no
# service names to offer.
#
# Installed as /usr/share/fish/vendor_completions.d/dinitctl.fish.

# Prints the command word and the number of operands after it (nothing before a command).
function __dinitctl_position
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd
    set -l operands 0
    set -l skip 0
    set -l only_operands 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        if test $only_operands -eq 0
            switch $t
                case --
                    set only_operands 1
                    continue
                case -p --socket-path -d --services-dir --from
                    set skip 1
                    continue
                case '-?*'
                    continue
            end
        end
        if test -z "$cmd"
            set cmd $t
        else
            set operands (math $operands + 1)
        end
    end
    if test -n "$cmd"
        echo $cmd
        echo $operands
    end
end

# True if there is no command word yet.
function __dinitctl_no_command
    set -l pos (__dinitctl_position)
    test (count $pos) -eq 0
end

# True if the command is one of the arguments and has exactly N operands so far
# (usage: __dinitctl_at N command...).
function __dinitctl_at
    set -l pos (__dinitctl_position)
    test (count $pos) -eq 2; or return 1
    test $pos[2] -eq $argv[1]; or return 1
    contains -- $pos[1] $argv[2..-1]
end

# The names of the loaded services.
function __dinitctl_services
    set -l tokens (commandline -opc)
    set -l prog $tokens[1]
    set -e tokens[1]
    set -l sock
    set -l take 0
    for t in $tokens
        if test $take -eq 1
            set -a sock -p $t
            set take 0
            continue
        end
        switch $t
            case -s --system -u --user
                set -a sock $t
            case -p --socket-path
                set take 1
        end
    end
    set -l limit
    if command -q timeout
        set limit timeout 2
    end
    # A line of `dinitctl list` is "[" and 8 state characters, "] ", the name, then details.
    command $limit $prog $sock list 2>/dev/null </dev/null |
        string replace -rf '^\[.{8}\] (\S+).*$' '$1'
end

complete -c dinitctl -f

# Commands.
complete -c dinitctl -n __dinitctl_no_command -a start -d 'Start and activate a service'
complete -c dinitctl -n __dinitctl_no_command -a stop -d 'Stop a service, remove activation'
complete -c dinitctl -n __dinitctl_no_command -a restart -d 'Stop a service and start it again'
complete -c dinitctl -n __dinitctl_no_command -a wake -d 'Start a service for its dependents'
complete -c dinitctl -n __dinitctl_no_command -a release -d 'Remove explicit activation'
complete -c dinitctl -n __dinitctl_no_command -a status -d 'Show the status of a service'
complete -c dinitctl -n __dinitctl_no_command -a is-started -d 'Succeed if a service is started'
complete -c dinitctl -n __dinitctl_no_command -a is-failed -d 'Succeed if a service failed'
complete -c dinitctl -n __dinitctl_no_command -a unpin -d 'Remove the pins of a service'
complete -c dinitctl -n __dinitctl_no_command -a unload -d 'Forget a stopped service'
complete -c dinitctl -n __dinitctl_no_command -a reload -d 'Read a description again'
complete -c dinitctl -n __dinitctl_no_command -a list -d 'List the loaded services'
complete -c dinitctl -n __dinitctl_no_command -a shutdown -d 'Stop all services and halt'
complete -c dinitctl -n __dinitctl_no_command -a add-dep -d 'Add a dependency'
complete -c dinitctl -n __dinitctl_no_command -a rm-dep -d 'Remove a dependency'
complete -c dinitctl -n __dinitctl_no_command -a enable -d 'Add a permanent waits-for dependency'
complete -c dinitctl -n __dinitctl_no_command -a disable -d 'Remove a dependency made by enable'
complete -c dinitctl -n __dinitctl_no_command -a trigger -d 'Set the trigger of a service'
complete -c dinitctl -n __dinitctl_no_command -a untrigger -d 'Clear the trigger of a service'
complete -c dinitctl -n __dinitctl_no_command -a setenv -d 'Set global environment variables'
complete -c dinitctl -n __dinitctl_no_command -a unsetenv -d 'Unset global environment variables'
complete -c dinitctl -n __dinitctl_no_command -a catlog -d 'Show the log buffer of a service'
complete -c dinitctl -n __dinitctl_no_command -a signal -d 'Send a signal to a service'

# General options.
complete -c dinitctl -l help -d 'Show help and exit'
complete -c dinitctl -l version -d 'Show the version and exit'
complete -c dinitctl -s s -l system -d 'Control the system instance'
complete -c dinitctl -s u -l user -d 'Control the user instance'
complete -c dinitctl -s p -l socket-path -r -F -d 'The control socket'
complete -c dinitctl -l use-passed-cfd -d 'Use the connection in DINIT_CS_FD'
complete -c dinitctl -l quiet -d 'Print only errors and requested data'
complete -c dinitctl -s o -l offline -d 'Enable/disable without the daemon'
complete -c dinitctl -s d -l services-dir -x -a '(__fish_complete_directories)' -d 'Service directory'

# Command options.
complete -c dinitctl -n "__fish_seen_subcommand_from start stop restart wake release" -l no-wait -d 'Do not wait for the outcome'
complete -c dinitctl -n "__fish_seen_subcommand_from start stop restart wake release" -l pin -d 'Pin the service'
complete -c dinitctl -n "__fish_seen_subcommand_from stop restart release" -l ignore-unstarted -d 'Succeed if not started'
complete -c dinitctl -n "__fish_seen_subcommand_from stop restart" -s f -l force -d 'Also stop or restart dependents'
complete -c dinitctl -n "__fish_seen_subcommand_from catlog" -l clear -d 'Empty the buffer afterwards'
complete -c dinitctl -n "__fish_seen_subcommand_from enable disable" -l from -x -a '(__dinitctl_services)' -d 'The dependent service'
complete -c dinitctl -n "__fish_seen_subcommand_from signal" -s l -l list -d 'List the signal names'

# Operands.
complete -c dinitctl -n "__dinitctl_at 0 start stop restart wake release status is-started is-failed unpin unload reload enable disable trigger untrigger catlog" -a '(__dinitctl_services)'
complete -c dinitctl -n "__dinitctl_at 0 add-dep rm-dep" -a 'need milestone waits-for regular' -d 'Dependency type'
complete -c dinitctl -n "__dinitctl_at 1 add-dep rm-dep; or __dinitctl_at 2 add-dep rm-dep" -a '(__dinitctl_services)'
complete -c dinitctl -n "__dinitctl_at 0 signal" -a 'HUP INT QUIT KILL USR1 USR2 TERM CONT STOP' -d Signal
complete -c dinitctl -n "__dinitctl_at 1 signal" -a '(__dinitctl_services)'
complete -c dinitctl -n "__fish_seen_subcommand_from setenv unsetenv" -a '(set -xn)' -d 'Environment variable'
